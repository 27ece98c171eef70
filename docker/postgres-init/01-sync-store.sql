-- The sync store lives in its own database beside Airflow's metadata DB (DESIGN.md: Components).
CREATE USER sync_store WITH PASSWORD 'sync_store';
CREATE DATABASE sync_store OWNER sync_store;
CREATE DATABASE max_gateway OWNER sync_store;
