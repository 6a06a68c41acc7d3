/* ids.h - identifiers: unit codes and UUIDs, their rules and how they are
 * made.
 *
 * Called by common/event.c (validation), the agent (a device id at init,
 * an event id per record) and the server (enrolment, uploads). Rules:
 * a code is 2-32 characters of A-Z 0-9 '-' '_', starting with a letter or
 * digit; an id is a lower-case RFC 4122 UUID, 36 characters.
 */
#ifndef TB_COMMON_IDS_H
#define TB_COMMON_IDS_H

#include <stdint.h>

#define TB_ID_LEN 37          /* UUID text + NUL */
#define TB_CODE_MIN 2
#define TB_CODE_MAX 32

/* Rule checks usable on their own (1 = passes). */
int tb_code_valid(const char *code);
int tb_uuid_valid(const char *id);

/* A new random (version 4) UUID from the OS's random source into
 * out (TB_ID_LEN). 0 or TB_EIO. */
int tb_uuid_new(char *out);
/* The id of the event a device first records under sequence number n
 * (1 <= n < 2^62): an RFC 4122 version-8 UUID made of the first 64 bits of the
 * device id (itself random, version 4) and n, the variant and version bits
 * overwriting 6 of them. Distinct devices' ids differ in their random
 * prefix; one device's ids differ in n, which its store never reuses.
 * Unlike random ids they compress: a batch of consecutive events shares
 * the prefix, which halves the bytes on the wire per event.
 * 0, or TB_EINVAL for a device that is not a UUID or n < 1. */
int tb_uuid_for_device(const char *device, int64_t n, char *out);

#endif
