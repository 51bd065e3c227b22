# syntax=docker/dockerfile:1
# image-catalog: multi-stage build, production dependencies only, runs as the unprivileged "node" user.
# Not built in CI (no Docker engine there); see README "Container and Kubernetes".

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles its native module when no prebuilt binary is reachable.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY schema ./schema
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# NODE_OPTIONS: the heap settings of package.json's config.nodeOptions (what `npm start` uses);
# a test keeps the two alike. Raise --max-old-space-size along with the container's memory limit.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=192 --max-semi-space-size=32" \
    PORT=4000 \
    DATA_DIR=/data \
    DATABASE_URL=sqlite:/data/image-catalog.sqlite
WORKDIR /app
# The code stays owned by root: the service cannot rewrite itself. Only /data is the node user's.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The SDL is read at start (src/schema.ts), beside dist/.
COPY --from=build /app/schema ./schema
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 4000
VOLUME ["/data"]
# node dist/cli/migrate.js and node dist/cli/rotate-secrets.js run the same way (see deploy/).
CMD ["node", "dist/main.js"]
