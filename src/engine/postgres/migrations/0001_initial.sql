-- hookbot's schema, version 1: every record the Engine trait keeps, in the schema "hookbot".
--
-- Run ids are unsigned 64-bit numbers whose top bit is set; they are stored as bigint with that
-- bit flipped ((id # -9223372036854775808) in SQL), so bigint order is id order: ids order runs
-- by arrival. Discord ids (servers, users, channels) and the bot id are stored as bigint as they
-- are: snowflakes stay below 2^63. Records are JSON documents in `json` columns (kept as
-- written: a string holding U+0000, which a webhook body may carry, is refused by `jsonb`).
-- Variable names and values are bytes (text cannot hold U+0000), compared byte by byte as in
-- sled; `convert_from(name, 'UTF8')` reads them.

-- Settings: the API key's hash, the bot id, the install id.
CREATE TABLE hookbot.settings (
    name  text  PRIMARY KEY,
    value bytea NOT NULL
);

-- The served event definitions, one row per event.
CREATE TABLE hookbot.events (
    id         text  COLLATE "C" PRIMARY KEY,
    definition json  NOT NULL
);

-- Every accepted version of each event (at most MAX_REVISIONS_PER_EVENT kept).
CREATE TABLE hookbot.event_revisions (
    event_id       text    COLLATE "C" NOT NULL,
    revision       integer NOT NULL,
    accepted_at_ms bigint  NOT NULL,
    definition     json   NOT NULL,
    PRIMARY KEY (event_id, revision)
);

-- Variables by scope: 0 global, 1 server, 2 user (in a server), 3 channel. Unused ids are 0.
CREATE TABLE hookbot.variables (
    scope   smallint NOT NULL,
    first   bigint   NOT NULL,
    second  bigint   NOT NULL,
    name    bytea    NOT NULL,
    value   bytea    NOT NULL,
    PRIMARY KEY (scope, first, second, name)
);

-- The low 40 bits of run ids; the top 24 come from the install id.
CREATE SEQUENCE hookbot.run_counter;

-- Every run's record, with the columns listings and retention filter on: status is
-- "pending", "succeeded" or "failed"; done_at_ms is when a finished run finished (its arrival
-- if it never said), null while it is pending.
CREATE TABLE hookbot.runs (
    id         bigint PRIMARY KEY,
    event_id   text   COLLATE "C" NOT NULL,
    status     text   NOT NULL,
    done_at_ms bigint,
    record     json  NOT NULL
);
CREATE INDEX runs_by_event ON hookbot.runs (event_id, id);

-- The pending queue: runs accepted and not finished; retry_at_ms is the next attempt of a run
-- waiting for a retry.
CREATE TABLE hookbot.pending (
    run_id      bigint PRIMARY KEY,
    retry_at_ms bigint
);

-- A run's journal.
CREATE TABLE hookbot.steps (
    run_id     bigint  NOT NULL,
    step_index bigint  NOT NULL,
    step       json   NOT NULL,
    PRIMARY KEY (run_id, step_index)
);

-- Idempotency keys: the run each started and the answer its request got.
CREATE TABLE hookbot.idempotency (
    event_id       text   COLLATE "C" NOT NULL,
    key            bytea  NOT NULL,
    run_id         bigint NOT NULL,
    accepted_at_ms bigint NOT NULL,
    answer         json  NOT NULL,
    PRIMARY KEY (event_id, key)
);
CREATE INDEX idempotency_by_age ON hookbot.idempotency (accepted_at_ms);
