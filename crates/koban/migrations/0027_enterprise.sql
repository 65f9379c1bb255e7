-- Organizations: their members and roles, and invitations to join.
-- Times are BIGINT milliseconds (UTC). Role and permission lists are
-- comma-separated names (koban_policy::org::roles).

CREATE TABLE orgs (
    id {id},
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- 'standard' or 'enterprise' (the support tier); set by desk admins.
    plan TEXT NOT NULL DEFAULT 'standard',
    created_by BIGINT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Custom roles; the built-in ones live in code.
CREATE TABLE org_roles (
    id {id},
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE org_members (
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    -- The name the organization knows the member by.
    display_name TEXT NOT NULL DEFAULT '',
    -- 'active' or 'suspended'.
    status TEXT NOT NULL,
    -- Role keys: built-in names and 'custom:<org_roles.id>'.
    roles TEXT NOT NULL,
    -- Bumped by every change of the row: a role change names the version
    -- it was made from, so of two admins changing one member at once the
    -- second is told, instead of undoing the first unseen.
    version BIGINT NOT NULL DEFAULT 1,
    joined_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    status_reason TEXT,
    PRIMARY KEY (org_id, account_id)
);
CREATE INDEX org_members_by_account ON org_members(account_id);

CREATE TABLE org_invites (
    id {id},
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    -- The invited email (lowercased) or phone (E.164).
    contact TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    roles TEXT NOT NULL,
    -- Keyed hashes: the link's token, and the code (bound to the invite id).
    token_hash TEXT NOT NULL UNIQUE,
    code_hash TEXT NOT NULL,
    -- Wrong codes so far; at 5 the code stops working (the link still does).
    code_failures BIGINT NOT NULL DEFAULT 0,
    created_by BIGINT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- 'pending', 'accepted', 'declined' or 'revoked'.
    status TEXT NOT NULL,
    decided_at BIGINT,
    account_id BIGINT REFERENCES accounts(id)
);
-- One open invitation per person and organization.
CREATE UNIQUE INDEX org_invites_one_pending ON org_invites(org_id, contact) WHERE status = 'pending';
CREATE INDEX org_invites_by_contact ON org_invites(contact, status);
