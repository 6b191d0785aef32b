-- The demo's application during the online split (pgbench, through PgBouncer): new copies of a film in stock,
-- and the film touched (its trigger stamps last_update).
\set film random(1, 1000)
BEGIN;
INSERT INTO inventory (film_id, store_id) VALUES (:film, 1 + :film % 2);
UPDATE film SET rental_duration = rental_duration WHERE film_id = :film;
COMMIT;
