# churnwatch worker image. Build: docker build -t churnwatch .
# Run against real Kafka and Postgres: see docker-compose.yml and the README's configuration table.
FROM node:20-bookworm-slim

# gcc + librdkafka-dev only build the local development broker (KAFKA_BROKERS=embedded);
# a production image pointed at real Kafka does not need them, but they keep `npm run demo` working.
RUN apt-get update \
 && apt-get install -y --no-install-recommends librdkafka-dev gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
RUN npm ci --omit=dev
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
COPY models ./models
COPY examples ./examples

# Embedded PostgreSQL refuses to run as root; the image runs as the node user. Mount ./data and
# ./outbox as volumes when you use the embedded defaults; set DATABASE_URL / SMTP_URL otherwise.
RUN mkdir -p /app/data /app/outbox && chown -R node:node /app/data /app/outbox
USER node
ENV NODE_ENV=production HTTP_PORT=9464
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["npx", "tsx", "src/main.ts"]
