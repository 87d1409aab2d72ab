import { BlockList, isIP } from 'node:net';

/** Where an address is, as far as the bundled GeoLite data knows: a country and an approximate point. */
export interface Location {
  country: string;
  latitude: number;
  longitude: number;
  /** The data's accuracy radius around the point. */
  accuracyKm: number;
}

type GeoIp = typeof import('geoip-lite');

/**
 * Addresses no geolocation database places: unspecified, loopback, private, link-local, carrier-grade NAT,
 * unique local. Answered without a lookup, so they never load the ~110 MB GeoLite data.
 */
const UNLOCATABLE = new BlockList();
UNLOCATABLE.addSubnet('0.0.0.0', 8, 'ipv4');
UNLOCATABLE.addSubnet('10.0.0.0', 8, 'ipv4');
UNLOCATABLE.addSubnet('100.64.0.0', 10, 'ipv4');
UNLOCATABLE.addSubnet('127.0.0.0', 8, 'ipv4');
UNLOCATABLE.addSubnet('169.254.0.0', 16, 'ipv4');
UNLOCATABLE.addSubnet('172.16.0.0', 12, 'ipv4');
UNLOCATABLE.addSubnet('192.168.0.0', 16, 'ipv4');
UNLOCATABLE.addAddress('::', 'ipv6');
UNLOCATABLE.addAddress('::1', 'ipv6');
UNLOCATABLE.addSubnet('fc00::', 7, 'ipv6');
UNLOCATABLE.addSubnet('fe80::', 10, 'ipv6');

let geoip: Promise<GeoIp> | undefined;

/**
 * The country and approximate point of an IP address, or null for private, reserved and unknown
 * addresses. `geoip-lite` keeps its ~110 MB database in memory, so it loads on the first lookup, which
 * only projects using adaptive MFA cause. Lookups are local: no address ever leaves the server.
 */
export async function locate(ip: string): Promise<Location | null> {
  const family = isIP(ip);
  if (family === 0 || UNLOCATABLE.check(ip, family === 4 ? 'ipv4' : 'ipv6')) return null;
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
