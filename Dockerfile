# syntax=docker/dockerfile:1
# One image per service (build arg SERVICE=runs|graph), built with the commands the README gives.
FROM node:20-bookworm-slim AS base
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH
RUN npm install --global pnpm@12.4.2
WORKDIR /app

# Everything needed to install, build and test the workspace.
FROM base AS build
COPY pnpm-workspace.yaml pnpm-lock.yaml package.json ./
COPY packages/shared/package.json packages/shared/
COPY packages/testing/package.json packages/testing/
COPY packages/client/package.json packages/client/
COPY packages/cli/package.json packages/cli/
COPY packages/mcp/package.json packages/mcp/
COPY packages/console/package.json packages/console/
COPY services/runs/package.json services/runs/
COPY services/graph/package.json services/graph/
RUN pnpm install --frozen-lockfile
COPY . .
RUN pnpm build

# The test suite, run by `docker compose run --rm test` against the compose PostgreSQL and NATS;
# Graphviz renders the DOT export in a test, nats-server is the broker-outage test's own broker,
# Chromium runs the console's browser tests, Python (3.11, with venv) the Python client's tests.
FROM build AS test
RUN apt-get update && apt-get install -y --no-install-recommends graphviz nats-server chromium python3 python3-venv \
  && rm -rf /var/lib/apt/lists/*
CMD ["pnpm", "test"]

# A service's production dependencies and compiled JavaScript only.
FROM build AS deploy
ARG SERVICE=runs
RUN pnpm --filter "@screengraph/${SERVICE}" deploy --prod --legacy /out

FROM node:20-bookworm-slim AS service
ARG SERVICE=runs
ENV NODE_ENV=production
WORKDIR /app/services/${SERVICE}
COPY --from=deploy --chown=node:node /out ./
# Migrations are read from ../../migrations relative to the service, as in the repository.
COPY --from=deploy --chown=node:node /app/migrations /app/migrations
USER node
CMD ["node", "dist/server.js"]
