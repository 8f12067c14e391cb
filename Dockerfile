# churnwatch worker image: `docker build -t churnwatch .`; see docker-compose.yml for a full stack.
#
# Three stages: `build` compiles TypeScript (needs the devDependencies), `deps` installs the
# production dependencies only, `runtime` holds those plus dist/ and the files the worker reads
# at run time (migrations, the starter model, the example segments). No compiler, no librdkafka,
# no scripts/, no embedded-postgres, no Prisma CLI, no tsx in the image that runs.
#
# Node 24 is an LTS line (maintained into 2028); the exact version is pinned so a rebuild is the
# same image, and is raised deliberately (NODE_IMAGE build argument).
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the only ones are the embedded PostgreSQL's binaries and `prisma generate`,
# and the build needs neither (nothing in src/ imports the generated client).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 (Debian's package): it forwards SIGTERM/SIGINT to node and reaps zombies. Node
# as PID 1 would also receive signals once the worker installs its handlers, but the kernel drops
# a signal sent to PID 1 that has no handler yet, so a `docker stop` during start-up would wait out
# the whole grace period and end in SIGKILL; tini closes that window and needs no `--init`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=9464 \
    SHUTDOWN_TIMEOUT_MS=25000 \
    MODEL_DIR=/app/models \
    OUTBOX_DIR=/app/outbox
WORKDIR /app
# Owned by root and read-only for the worker: it writes only to /app/outbox (mails without
# SMTP); mount a volume on /app/models to serve your own models.
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY prisma/migrations ./prisma/migrations
COPY models ./models
COPY examples ./examples
RUN mkdir -p /app/outbox && chown node:node /app/outbox
USER node
EXPOSE 9464
# /healthz is 503 once the worker cannot make progress; it answers within a second.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/cli/index.js"]
# Any churnwatch command works: `docker run churnwatch migrate`, `... simulate --kafka host:9092`.
CMD ["worker"]
