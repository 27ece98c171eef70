# The image every Airflow service and the sandboxes run in (docker-compose.yaml).
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt constraints.txt /opt/shopify-max/
# The official image already holds Airflow and its Celery provider; pin the rest to the tested set.
RUN pip install --no-cache-dir -r /opt/shopify-max/requirements.txt -c /opt/shopify-max/constraints.txt
ENV PYTHONPATH=/opt/airflow/plugins
