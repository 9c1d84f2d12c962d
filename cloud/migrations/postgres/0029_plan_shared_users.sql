-- How many devices may use one login of a plan at once (RouterOS shared-users). With it or a
-- speed limit, and no profile of the owner's, the plan's users go in a profile the agent keeps
-- for the plan (jasiyo-<id>), which carries both.
ALTER TABLE plans ADD COLUMN shared_users BIGINT;
