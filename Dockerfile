# tenant-ledger: build with the full toolchain, run on the same Debian release
# without it (better-sqlite3's native module is built against bookworm's glibc).

FROM node:20-bookworm AS build
WORKDIR /app
# Manifests first, so dependency layers survive source edits. node:20-bookworm
# has python3, make and g++ for better-sqlite3's build from source.
COPY package.json package-lock.json ./
RUN npm ci
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# The web console (npm run build: vite build console → dist/console, served at /console).
COPY console ./console
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    LEDGER_DATA_DIR=/data
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# A named volume mounted here starts out with this ownership, so the
# unprivileged user can write tokens and SQLite files.
# /shared: where docker-compose.yml keeps the token file several instances share.
RUN mkdir -p /data /shared && chown node:node /data /shared
VOLUME /data
USER node
EXPOSE 3000
CMD ["node", "dist/main.js"]
