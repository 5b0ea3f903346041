# The livecommerce service image: one image for every process (docker-compose.yml runs
# `livecommerce api`, `relay`, `project`, `process`, `notify` and `ingest` from it).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . /app
# Runtime dependencies only, at the versions requirements.lock pins: the `dev` extra (stand-in servers) is never
# installed in production. An operator's tools image adds extras: --build-arg EXTRAS="[replay,audit]".
ARG EXTRAS=""
RUN pip install -c requirements.lock ".${EXTRAS}" \
    && useradd --system --create-home --home-dir /home/livecommerce livecommerce \
    && mkdir -p /var/lib/livecommerce/media \
    && chown -R livecommerce:livecommerce /var/lib/livecommerce

USER livecommerce
WORKDIR /home/livecommerce
ENV LIVECOMMERCE_MEDIA_ROOT=/var/lib/livecommerce/media

EXPOSE 8000
CMD ["livecommerce", "api"]
