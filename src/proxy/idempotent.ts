// Methods whose request may be sent again after a failed attempt (RFC 9110 §9.2.2), for both
// upstream clients (undici's exchange and the fast path's). A leaf module: it imports nothing.

export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])
