# The otel-breakout demo bot for the compose stack (compose.yaml, service `app`).
FROM python:3.12.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY otel_breakout ./otel_breakout
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12.11-slim-bookworm
RUN useradd --system --uid 10001 --create-home --home-dir /app bot
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels otel-breakout && rm -rf /wheels
USER 10001
WORKDIR /app
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
# Inside the container the API must listen on all interfaces for Prometheus; compose publishes it on
# 127.0.0.1 of the host only.
CMD ["otel-breakout", "demo", "--host", "0.0.0.0", "--port", "8000"]
