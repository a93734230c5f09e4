# syntax=docker/dockerfile:1
# Any Debian-like image with Python 3.11 and its venv module: python:3.11-slim where a registry answers,
# or a base made from Debian's packages where none does (`python3 scripts/dev.py image` makes one).
ARG BASE_IMAGE=python:3.11-slim

# Build stage: the service and its dependencies in a virtual environment; the runtime image copies only that.
FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/dicom-api/bin:$PATH
RUN python3 -m venv /opt/dicom-api
# build/wheelhouse: the dependencies as wheels, for a build that cannot reach the package index (dev.py image
# makes it). Without it pip installs from the index. pyproject.toml is listed so that the COPY never matches nothing.
COPY pyproject.toml build/wheelhous[e] /wheelhouse/
# Dependencies first, in their own layer: a change of src/ alone reuses it.
RUN if ls /wheelhouse/*.whl >/dev/null 2>&1; then set -- --no-index --find-links /wheelhouse; fi \
    && python3 -c "import tomllib; print('\n'.join(tomllib.load(open('/wheelhouse/pyproject.toml', 'rb'))['project']['dependencies']))" >/tmp/requirements.txt \
    && pip install --no-cache-dir "$@" -r /tmp/requirements.txt "setuptools>=77"
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# pip and setuptools install; the service does not need them at run time.
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && pip uninstall --yes setuptools pip && rm -rf /src/build

FROM ${BASE_IMAGE}
ENV PATH=/opt/dicom-api/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DICOM_API_DATA_DIR=/data \
    DICOM_API_HOST=0.0.0.0 \
    DICOM_API_PORT=8080 \
    DICOM_API_AUTO_MIGRATE=false
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /data --shell /usr/sbin/nologin dicomapi \
    && mkdir /data && chown 10001:10001 /data
COPY --from=build /opt/dicom-api /opt/dicom-api
USER 10001:10001
WORKDIR /data
# The embedded database, the blobs and the upload spool; on PostgreSQL and S3 only the spool and metrics.
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('DICOM_API_PORT', '8080') + '/health/ready', timeout=4).status != 200)"]
# Migrations run once, before any worker starts; then uvicorn serves.
CMD ["sh", "-c", "dicom-api migrate && exec dicom-api serve"]
