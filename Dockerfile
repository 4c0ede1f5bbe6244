# syntax=docker/dockerfile:1.7
# Image of one service: SERVICE names its folder under services/. Build from the repository
# root (the workspace is the context):
#
#   docker build --build-arg SERVICE=webhook-ingest -t micro-oncall/webhook-ingest:dev .
#
# Stage "service" checks SERVICE and reads the service's package name; it runs alongside the
# dependency download, so a wrong name fails the build within seconds. Stage "build" installs
# only that service's production dependencies with `pnpm deploy`, which copies the service and
# the workspace packages it uses (TypeScript source) into a self-contained /out, then bundles its
# entry points there with esbuild (scripts/build.ts --dir /out: dist/main.mjs for the server,
# dist/migrate.mjs for the chart's migration Job). The bundle is built in /out, the tree it runs
# in, because files it reads at run time (migrations, UI pages, scenarios) are found relative to
# it. The last stage is a slim Node runtime with that directory, no package managers, and a
# non-root numeric user (so that Kubernetes' runAsNonRoot can verify it). The server runs the
# bundle, not the TypeScript sources: less memory and a faster start than compiling through tsx
# at every start (docs/adr). tsx stays a production dependency for the chart's smoke-test Pod
# (`node --import tsx src/smoke.ts`), which is why the sources stay in the image; the chart
# runs it with a read-only root filesystem and an emptyDir at /tmp, where tsx keeps its
# compile cache.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS service
ARG SERVICE=""
RUN --mount=type=bind,source=services,target=/services <<'EOF'
set -eu
known=""
for f in /services/*/package.json; do d=${f%/package.json}; known="${known:+$known }${d##*/}"; done
case "$SERVICE" in
  "" | . | .. | */*)
    echo "error: SERVICE=\"$SERVICE\" is not a service; build with --build-arg SERVICE=<one of: $known>" >&2
    exit 1 ;;
esac
if [ ! -f "/services/$SERVICE/package.json" ]; then
  echo "error: services/$SERVICE does not exist; build with --build-arg SERVICE=<one of: $known>" >&2
  exit 1
fi
node -p 'require(process.argv[1]).name' "/services/$SERVICE/package.json" > /service-package
EOF

FROM ${NODE_IMAGE} AS build
ARG PNPM_VERSION=10.34.8
ENV CI=true PNPM_HOME=/pnpm
RUN npm install --global --no-audit --no-fund --loglevel=error pnpm@${PNPM_VERSION} \
 && pnpm config set store-dir /pnpm/store
WORKDIR /src
# Dependencies first: this layer is reused until the lockfile changes, whatever the service.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
# Patches of dependencies (package.json pnpm.patchedDependencies): applied by fetch and deploy.
COPY patches ./patches
# Every dependency, development ones too: the bundler (esbuild, run by tsx) is one of the root's.
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store pnpm fetch
COPY packages ./packages
COPY services ./services
COPY scripts/build.ts ./scripts/build.ts
COPY scripts/lib/bundle.ts ./scripts/lib/bundle.ts
COPY --from=service /service-package /service-package
# --legacy: the workspace does not inject workspace packages, which pnpm 10's default deploy needs.
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm --filter "$(cat /service-package)" --prod --prefer-offline deploy --legacy /out \
 && rm -f /out/drizzle.config.ts
# The bundler: the workspace root's own tools (esbuild, tsx) from the lockfile, in /src only;
# /out keeps the service's production dependencies alone.
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --filter micro-oncall --offline --frozen-lockfile \
 && node --import tsx scripts/build.ts --dir /out

FROM ${NODE_IMAGE}
# Package managers are not needed at run time; fewer binaries, fewer CVEs to triage.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /opt/yarn-* \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg
ENV NODE_ENV=production PORT=8080
WORKDIR /app
# Owned by root and not writable by the service user.
COPY --from=build /out /app
# 1000:1000 is the image's "node" user.
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The bundle's source maps (dist/*.mjs.map) are not loaded by default: --enable-source-maps costs
# about 60 MB of memory per process (docs/adr). NODE_OPTIONS=--enable-source-maps turns them on.
CMD ["node", "dist/main.mjs"]
# Last: build arguments above here would make every layer per service and per commit.
ARG SERVICE=""
ARG SOURCE_URL=""
ARG REVISION=""
LABEL org.opencontainers.image.title="micro-oncall ${SERVICE}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
