// The floor under every HTTP benchmark: a Fastify server (the platform's framework, with its JSON body
// parsing and serialization) whose one POST route answers 201 with the body it was sent, and nothing else —
// no authentication, no validation, no database. bench/credentials.mjs loads it exactly as it loads the
// platform: how many requests per second HTTP alone allows on this machine, with the load generator on it.
// Never a way to run the platform.
import { createRequire } from 'node:module';

// The server package's own Fastify, the very version the platform runs on.
const Fastify = createRequire(new URL('../packages/server/package.json', import.meta.url))('fastify');

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.get('/healthz', async () => ({ status: 'ok' }));
app.post('/floor', async (request, reply) => reply.code(201).send(request.body));

const close = () => app.close().then(() => process.exit(0));
process.once('SIGTERM', close);
process.once('SIGINT', close);
await app.listen({ host: process.env.PERSONA_HOST, port: Number(process.env.PERSONA_PORT) });
