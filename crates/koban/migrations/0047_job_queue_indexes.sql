-- The queue's claim and its lease rescue each read their own partial
-- index, in order, and stop at their LIMIT (jobs/store.rs).
--
-- With the one index on (status, run_at), PostgreSQL claimed through a
-- bitmap scan of every 'running' entry, dead ones included: a job leaves
-- an index entry behind at each change of status, and a bitmap scan never
-- marks such an entry dead, so until autovacuum came each claim read more
-- of them. After 18,000 tickets a claim took 1.4 ms of the database's time
-- and all claims together a fifth of it (desk run 13). A plain index scan
-- marks what it finds dead, so the next one skips it.
DROP INDEX jobs_due;
CREATE INDEX jobs_pending ON jobs(run_at, id) WHERE status = 'pending';
CREATE INDEX jobs_leased ON jobs(locked_until) WHERE status = 'running';
