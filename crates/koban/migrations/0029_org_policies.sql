-- An organization's security policy for its members
-- (koban_policy::org::policy::Policy as JSON). No row: no rule set.
CREATE TABLE org_policies (
    org_id BIGINT PRIMARY KEY REFERENCES orgs(id),
    policy TEXT NOT NULL,
    -- When two-step verification became required: members' grace periods
    -- start here (or when they joined, if later). NULL while not required.
    two_factor_since BIGINT,
    -- Bumped by every change; a change names the version it was made from.
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by BIGINT NOT NULL REFERENCES accounts(id)
);
