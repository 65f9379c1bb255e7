//! What requesters read before they write: the help center's categories
//! and articles (every language published), and the announcements in the
//! banner: the articles written by the supervisor, the announcements by
//! the administrator, as editors would.

use super::data::Content;
use super::people::Staff;
use super::{step, DemoError, HOUR_MS};
use crate::announcements::service::{self as announcements, Input};
use crate::announcements::store::TextRow;
use crate::helpcenter::service::{self as help, Writing};
use crate::state::App;
use crate::store::as_of;

/// Publishes the articles a day after `start` and the announcements
/// around `end`; returns (articles, announcements).
pub async fn publish(
    app: &App,
    content: &Content,
    staff: &Staff,
    start: i64,
    end: i64,
) -> Result<(usize, usize), DemoError> {
    let editor = help::editor(Some(&staff.supervisor)).map_err(step("choosing the editor"))?;
    let mut articles = 0;
    for (position, category) in content.categories.iter().enumerate() {
        let at = start - 24 * HOUR_MS + position as i64 * HOUR_MS;
        let id = as_of(
            at,
            help::create_category(app, editor, &category.names, Some(position as i64)),
        )
        .await
        .map_err(step("adding a help category"))?;
        for (n, versions) in category.articles.iter().enumerate() {
            let at = at + (n as i64 + 1) * 10 * 60_000;
            let mut article = None;
            for (lang, [title, body]) in versions {
                let writing = Writing {
                    lang,
                    title,
                    body,
                    publish: true,
                };
                let what = format!("writing the article {title}");
                match article {
                    None => {
                        let made = as_of(at, help::create_article(app, editor, id, &writing))
                            .await
                            .map_err(step(&what))?;
                        article = Some(made);
                    }
                    Some(made) => as_of(at, help::save_version(app, editor, made, &writing))
                        .await
                        .map_err(step(&what))?,
                }
            }
            articles += 1;
        }
    }
    let actor = staff.admin.account.id;
    for notice in &content.announcements {
        let input = Input {
            kind: notice.kind.clone(),
            texts: notice
                .texts
                .iter()
                .map(|(lang, [title, body])| {
                    let text = TextRow {
                        title: title.clone(),
                        body: body.clone(),
                    };
                    (lang.clone(), text)
                })
                .collect(),
            regions: notice.regions.clone(),
            starts_at: end + notice.starts_in_hours * HOUR_MS,
            ends_at: Some(end + notice.ends_in_hours * HOUR_MS),
        };
        let written = end + (notice.starts_in_hours - 1) * HOUR_MS;
        as_of(written, async {
            let made = announcements::create(app, actor, &input)
                .await
                .map_err(step("writing an announcement"))?;
            let published = koban_policy::announce::Status::Published;
            announcements::set_status(app, actor, made.id, Some(made.version), published)
                .await
                .map_err(step("publishing an announcement"))
        })
        .await?;
    }
    Ok((articles, content.announcements.len()))
}
