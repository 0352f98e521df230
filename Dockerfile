FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 FIREBREAK_VAR_DIR=/var/lib/firebreak STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir -r requirements.txt -c constraints.txt
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --system --home /app firebreak && mkdir -p /var/lib/firebreak && chown firebreak /var/lib/firebreak
USER firebreak
EXPOSE 8000
