# syntax=docker/dockerfile:1
# Build wheels in a throw-away stage; the runtime image gets only the installed packages.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DICOM_API_DATA_DIR=/data \
    DICOM_API_HOST=0.0.0.0 \
    DICOM_API_PORT=8080
RUN useradd --system --uid 10001 --home-dir /data --create-home dicomapi
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health/ready', timeout=4).status != 200)"]
# Migrations run once, before any worker starts; then uvicorn serves.
CMD ["sh", "-c", "dicom-api migrate && exec dicom-api serve"]
