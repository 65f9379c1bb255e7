-- Every sign-in reads the account's last successful sign-ins (the places the
-- risk engine knows). With only (account_id, id) to go on, PostgreSQL fetched
-- every attempt of the account, failures included, and sorted them: a cost
-- that grew with the account's history, paid on every sign-in. This index
-- holds successes alone, in order, so the newest few are read and no more.
CREATE INDEX login_successes_by_account ON login_attempts(account_id, id) WHERE outcome = 'success';
