# The mediasync image: one image, every process. The subcommand picks the role:
#   docker run IMAGE receiver --host 0.0.0.0 --port 8000 | worker | beat | listener | migrate | flower ...
# No HEALTHCHECK here: the right check depends on the role, so docker-compose.yml and the
# Kubernetes probes define one per service (python and celery are on PATH for them).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/mediasync
WORKDIR /src
# Only what the distribution packages (see [tool.setuptools] in pyproject.toml).
COPY pyproject.toml README.md ./
COPY db ./db
COPY workers ./workers
COPY webhook_receiver ./webhook_receiver
COPY mediasync ./mediasync
COPY cloudinary_emulator ./cloudinary_emulator
# No [embedded] extra: containers get PostgreSQL and Redis from DATABASE_URL/REDIS_URL.
RUN /opt/mediasync/bin/pip install . \
 && /opt/mediasync/bin/mediasync --help >/dev/null

FROM python:3.11-slim
ENV PATH=/opt/mediasync/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# A fixed numeric uid, so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --system --gid 10001 mediasync \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/mediasync --create-home \
      --shell /usr/sbin/nologin mediasync
COPY --from=build /opt/mediasync /opt/mediasync
USER 10001:10001
WORKDIR /home/mediasync
EXPOSE 8000 5555
ENTRYPOINT ["mediasync"]
CMD ["--help"]
