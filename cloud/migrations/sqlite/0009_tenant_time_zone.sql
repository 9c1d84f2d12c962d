-- Each tenant's time zone (an IANA name), in which its times are shown to people.
ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'Africa/Nairobi';
