-- What triggers keep: each schedule event's next due time, so a restart neither skips nor
-- repeats a fire.
CREATE TABLE hookbot.schedule_dues (
    event_id    text   COLLATE "C" PRIMARY KEY,
    fingerprint text   NOT NULL,
    next_due_ms bigint NOT NULL
);

-- Values of buttons too long for their custom_id, under a key derived from the value.
CREATE TABLE hookbot.button_values (
    key   text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
);
