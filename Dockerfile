# Two images: `airflow` (every Airflow service: the library in plugins/, the DAGs) and `services` (the webhook
# receiver's siblings: the MAX gateway and the sandboxes, with what only they need). docker-compose.yaml builds both.
FROM apache/airflow:3.3.2-python3.11 AS airflow
COPY requirements.txt constraints.txt /opt/shopify-max/
# The official image already holds Airflow and its Celery provider; pin the rest to the tested set.
RUN pip install --no-cache-dir -r /opt/shopify-max/requirements.txt -c /opt/shopify-max/constraints.txt
ENV PYTHONPATH=/opt/airflow/plugins

FROM airflow AS services
COPY requirements-services.txt /opt/shopify-max/
RUN pip install --no-cache-dir -r /opt/shopify-max/requirements-services.txt -c /opt/shopify-max/constraints.txt
ENV PYTHONPATH=/opt/airflow/plugins:/opt/services
