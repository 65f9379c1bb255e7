-- Reports read tickets by the time they were opened (volumes, times and SLA
-- over a date range; the backlog before a day). Without this index each
-- report reads every ticket the desk ever had.
CREATE INDEX desk_tickets_by_created ON desk_tickets(created_at, id);
