-- Run once by the postgres image when its volume is empty (deploy/compose.yml): the conversations'
-- database beside the orders' (POSTGRES_DB). Rasa creates its tables at the first start.
CREATE DATABASE rasa OWNER bot;
