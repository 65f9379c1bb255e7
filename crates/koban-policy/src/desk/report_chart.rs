//! Where the shapes of a report's charts go, in SVG user units; templates
//! draw them. The view box is as wide as a phone's screen in CSS pixels,
//! so at phone width text is drawn at its own size and on a wide screen
//! the chart scales up; no script draws anything.

use serde::Serialize;

/// The view box's width.
pub const WIDTH: f64 = 360.0;
/// The most labels under a time axis: more would overlap at phone width.
pub const MAX_X_LABELS: usize = 6;

const LEFT: f64 = 40.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 22.0;
const PLOT_HEIGHT: f64 = 150.0;
const BOTTOM: f64 = 40.0;
/// A row of a bar chart: the label on one line, the bar under it.
const ROW: f64 = 34.0;
/// Room right of the longest bar for its value.
const VALUE_ROOM: f64 = 56.0;

fn tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The top of a value axis and its step: the step is 1, 2 or 5 times a
/// power of ten, the fewest that keeps at most five steps, and the top the
/// first multiple of it at or above `max` (at least one step).
pub fn axis(max: u64) -> (u64, u64) {
    let mut power = 1u64;
    loop {
        for step in [power, power.saturating_mul(2), power.saturating_mul(5)] {
            let steps = max.div_ceil(step).max(1);
            if steps <= 5 {
                return (steps.saturating_mul(step), step);
            }
        }
        power = power.saturating_mul(10);
    }
}

/// The plotting area inside the view box.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Plot {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

/// A line across the plot at a value, labelled with it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Tick {
    pub y: f64,
    pub value: u64,
}

/// One day's column (and, for a line, its point at `cx`, `y`).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Column {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub cx: f64,
    pub value: u64,
    /// Whether its day is written under the axis.
    pub labelled: bool,
}

/// A chart over days: columns, or a line through their tops.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimeChart {
    pub width: f64,
    pub height: f64,
    pub plot: Plot,
    pub ticks: Vec<Tick>,
    pub columns: Vec<Column>,
    /// The line's points as an SVG `points` attribute.
    pub line: String,
}

/// A chart of one value per day.
pub fn time_chart(values: &[u64]) -> TimeChart {
    let max = values.iter().copied().max().unwrap_or(0);
    let (top, step) = axis(max);
    let plot = Plot {
        left: LEFT,
        top: TOP,
        right: WIDTH - RIGHT,
        bottom: TOP + PLOT_HEIGHT,
    };
    let y_of = |v: u64| plot.bottom - PLOT_HEIGHT * (v as f64) / (top as f64);
    let ticks = (0..=top / step)
        .map(|i| Tick {
            y: tenth(y_of(i * step)),
            value: i * step,
        })
        .collect();
    let slot = (plot.right - plot.left) / values.len().max(1) as f64;
    // Every `every`th day is labelled, counted back from the last, so the
    // most recent day always has its date.
    let every = values.len().div_ceil(MAX_X_LABELS).max(1);
    let columns: Vec<Column> = values
        .iter()
        .enumerate()
        .map(|(i, &value)| {
            let x = plot.left + slot * i as f64;
            let y = y_of(value);
            Column {
                x: tenth(x + slot * 0.1),
                y: tenth(y),
                width: tenth(slot * 0.8),
                height: tenth(plot.bottom - y),
                cx: tenth(x + slot / 2.0),
                value,
                labelled: (values.len() - 1 - i).is_multiple_of(every),
            }
        })
        .collect();
    let line = columns
        .iter()
        .map(|c| format!("{},{}", c.cx, c.y))
        .collect::<Vec<_>>()
        .join(" ");
    TimeChart {
        width: WIDTH,
        height: TOP + PLOT_HEIGHT + BOTTOM,
        plot,
        ticks,
        columns,
        line,
    }
}

/// One group's bar: its label above, its value after it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Bar {
    pub label_y: f64,
    pub y: f64,
    pub width: f64,
    pub value_x: f64,
    pub value_y: f64,
    pub value: u64,
}

/// Horizontal bars, one row per group: long translated labels stay
/// readable on a phone because each has the full width to itself.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BarChart {
    pub width: f64,
    pub height: f64,
    pub bar_height: f64,
    pub bars: Vec<Bar>,
}

/// A bar chart of `values`, one row each, in order.
pub fn bar_chart(values: &[u64]) -> BarChart {
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let room = WIDTH - VALUE_ROOM;
    let bars = values
        .iter()
        .enumerate()
        .map(|(i, &value)| {
            let row = ROW * i as f64;
            let width = tenth(room * value as f64 / max as f64);
            Bar {
                label_y: tenth(row + 12.0),
                y: tenth(row + 16.0),
                width,
                value_x: tenth(width + 4.0),
                value_y: tenth(row + 26.0),
                value,
            }
        })
        .collect();
    BarChart {
        width: WIDTH,
        height: ROW * values.len().max(1) as f64,
        bar_height: 12.0,
        bars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn axes_step_by_one_two_or_five() {
        assert_eq!(axis(0), (1, 1));
        assert_eq!(axis(5), (5, 1));
        assert_eq!(axis(7), (8, 2));
        assert_eq!(axis(101), (150, 50));
        assert_eq!(axis(u64::MAX).0, u64::MAX);
    }

    proptest! {
        #[test]
        fn an_axis_holds_its_maximum_in_at_most_five_steps(max in 0u64..10_000_000_000) {
            let (top, step) = axis(max);
            prop_assert!(top >= max);
            prop_assert!(top - max < step || max == 0);
            prop_assert!(top / step <= 5 && top % step == 0);
        }

        #[test]
        fn columns_stay_inside_the_plot_in_proportion(values in prop::collection::vec(0u64..100_000, 1..367)) {
            let chart = time_chart(&values);
            let (top, _) = axis(values.iter().copied().max().unwrap_or(0));
            let p = chart.plot;
            let labelled = chart.columns.iter().filter(|c| c.labelled).count();
            prop_assert!((1..=MAX_X_LABELS).contains(&labelled));
            prop_assert!(chart.columns.last().is_some_and(|c| c.labelled));
            for (c, v) in chart.columns.iter().zip(&values) {
                prop_assert!(c.x >= p.left - 0.1 && c.x + c.width <= p.right + 0.2);
                prop_assert!(c.y >= p.top - 0.1 && c.y + c.height <= p.bottom + 0.2);
                let expected = PLOT_HEIGHT * (*v as f64) / (top as f64);
                prop_assert!((c.height - expected).abs() <= 0.1);
            }
            for pair in chart.columns.windows(2) {
                prop_assert!(pair[0].x + pair[0].width <= pair[1].x + 0.1);
            }
        }

        #[test]
        fn bars_fit_the_width_and_the_longest_fills_it(values in prop::collection::vec(0u64..100_000, 1..20)) {
            let chart = bar_chart(&values);
            let max = values.iter().copied().max().unwrap_or(0);
            for (b, v) in chart.bars.iter().zip(&values) {
                prop_assert!(b.width >= 0.0 && b.value_x <= WIDTH - VALUE_ROOM + 4.1);
                prop_assert!(b.y + chart.bar_height <= chart.height);
                if *v == max && max > 0 {
                    prop_assert!((b.width - (WIDTH - VALUE_ROOM)).abs() < 0.1);
                }
            }
        }
    }
}
