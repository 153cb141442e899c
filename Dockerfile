# parity in a container: `docker build -t parity .` then
#   docker run -v $PWD/parity.yaml:/config/parity.yaml:ro -v parity-data:/data \
#     -e PARITY_TOKEN=... -p 127.0.0.1:8787:8787 parity
# The config's server block must bind 0.0.0.0 inside the container, which needs server.token.

# Build: install everything, compile TypeScript and bundle the CLI (scripts/bundle.ts).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm ci && npm prune --omit=dev

# Run: the compiled code and production dependencies only, as a non-root user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production PARITY_CONFIG=/config/parity.yaml
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /data && chown node:node /data
USER node
WORKDIR /data
EXPOSE 8787
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["start"]
