-- What the pagila application runs, so pg_stat_statements has a history for `cleave plan` to read.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
ANALYZE;
SELECT pg_stat_statements_reset();
SELECT title, description FROM film WHERE film_id = 1;
SELECT title, description FROM film WHERE film_id = 2;
SELECT f.title, count(*) FROM rental r JOIN inventory i USING (inventory_id) JOIN film f USING (film_id) GROUP BY f.title ORDER BY 2 DESC LIMIT 10;
SELECT c.first_name, c.last_name, sum(p.amount) FROM customer c JOIN payment p USING (customer_id) GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5;
SELECT c.email FROM customer c WHERE c.customer_id IN (SELECT customer_id FROM rental WHERE return_date IS NULL);
SELECT c.email FROM customer c WHERE c.customer_id IN (SELECT customer_id FROM rental WHERE return_date IS NULL);
SELECT s.first_name, count(*) FROM staff s JOIN rental r USING (staff_id) GROUP BY 1;
WITH late AS (SELECT * FROM rental WHERE return_date > rental_date + interval '7 days') SELECT count(*) FROM late;
SELECT count(*) FROM film_list;
SELECT a.first_name, a.last_name FROM actor a JOIN film_actor fa USING (actor_id) WHERE fa.film_id = 10;
SELECT ci.city, co.country FROM city ci JOIN country co USING (country_id) WHERE co.country = 'Canada';
SELECT * FROM customer_list LIMIT 3;
SELECT inventory_in_stock(10);
