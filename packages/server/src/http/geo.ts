import { isIP } from 'node:net';

/** Where an address is, as far as the bundled GeoLite data knows: a country and an approximate point. */
export interface Location {
  country: string;
  latitude: number;
  longitude: number;
  /** The data's accuracy radius around the point. */
  accuracyKm: number;
}

type GeoIp = typeof import('geoip-lite');

let geoip: Promise<GeoIp> | undefined;

/**
 * The country and approximate point of an IP address, or null for private, reserved and unknown
 * addresses. `geoip-lite` keeps its ~110 MB database in memory, so it loads on the first lookup, which
 * only projects using adaptive MFA cause. Lookups are local: no address ever leaves the server.
 */
export async function locate(ip: string): Promise<Location | null> {
  if (!isIP(ip)) return null;
  geoip ??= import('geoip-lite').then((module) => (module.default ?? module) as GeoIp);
  const found = (await geoip).lookup(ip);
  if (!found?.country) return null;
  const [latitude, longitude] = found.ll;
  return { country: found.country, latitude, longitude, accuracyKm: found.area };
}

const EARTH_RADIUS_KM = 6371.0088;

/** Great-circle distance (haversine) between two points, in km. */
export function distanceKm(a: Location, b: Location): number {
  const radians = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * radians;
  const dLon = (b.longitude - a.longitude) * radians;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.latitude * radians) * Math.cos(b.latitude * radians) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
