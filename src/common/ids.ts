/**
 * Site, customer and product-installation IDs: 1–64 characters of
 * `[A-Za-z0-9._:-]`. One pattern for every place an ID comes in.
 */
export const ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

export const ID_RULE = '1–64 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-"';
