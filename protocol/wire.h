/* wire.h - the names and numbers of the wire, defined once: protocol
 * version, limits, route paths, header names and media types of
 * PROTOCOL.md.
 *
 * Included by the codec (protocol/codec.h includes it), the agent's HTTP
 * client and sync engine, and the server's routing and upload checks, so a
 * path or a header is spelled in one place. Header names are given as
 * HTTP spells them; comparisons of header names are case-insensitive
 * (RFC 9110), so the agent's reply parser lower-cases what it reads.
 */
#ifndef TB_PROTOCOL_WIRE_H
#define TB_PROTOCOL_WIRE_H

#include <stdint.h>

#define TB_PROTOCOL_VERSION 1
#define TB_BATCH_MAX_EVENTS 5000
#define TB_BODY_MAX (1024 * 1024)        /* compressed request body */
#define TB_INFLATE_MAX (8 * 1024 * 1024) /* decompressed request body */
/* Largest sequence number (and ack counter) on the wire: 2^53 - 1, the
 * largest integer every JSON reader that uses doubles (cJSON, JavaScript)
 * holds exactly. Decoders refuse anything larger. */
#define TB_SEQ_MAX INT64_C(9007199254740991)
/* What a decoder of the wire accepts before cJSON builds a node: nesting
 * and the number of values (a batch of TB_BATCH_MAX_EVENTS events of at
 * most ~60 values each, plus the envelope). */
#define TB_WIRE_DEPTH_MAX 16
#define TB_WIRE_VALUES_MAX (TB_BATCH_MAX_EVENTS * 64 + 64)

/* Routes. */
#define TB_ROUTE_BATCHES "/v1/batches"  /* POST a batch */
#define TB_ROUTE_CURSOR "/v1/cursor"    /* GET ?device=<uuid> */
#define TB_ROUTE_CURSOR_QUERY "device"  /* the query key of the cursor */
#define TB_ROUTE_HEALTHZ "/healthz"     /* GET, no token */
#define TB_ROUTE_REPORT "/v1/report"    /* GET, the district's report */
#define TB_ROUTE_ADMIN_PREFIX "/v1/admin/"

/* Headers and their values. */
#define TB_HDR_AUTHORIZATION "Authorization"
#define TB_HDR_CONTENT_TYPE "Content-Type"
#define TB_HDR_CONTENT_ENCODING "Content-Encoding"
#define TB_HDR_RETRY_AFTER "Retry-After"
#define TB_HDR_AFTER "Tienbo-After" /* the cursor the client expects */
#define TB_AUTH_SCHEME "Bearer"
#define TB_MEDIA_JSON "application/json"
#define TB_ENCODING_GZIP "gzip"

#endif
