/**
 * pricing.js — computes quote totals for the sales configurator.
 * Discounts: volume tiers + optional partner discount (max 15 %).
 */
const TIERS = [
  { min: 1, discount: 0 },
  { min: 25, discount: 0.05 },
  { min: 100, discount: 0.1 },
  { min: 500, discount: 0.15 },
];

export function tierDiscount(seats) {
  return TIERS.filter((t) => seats >= t.min).at(-1).discount;
}

export function quote({ seats, pricePerSeat, partnerDiscount = 0, vatRate = 0.19 }) {
  if (partnerDiscount > 0.15) throw new Error("partner discount above 15 % needs approval");
  const list = seats * pricePerSeat;
  const discount = list * (tierDiscount(seats) + partnerDiscount);
  const net = Math.round((list - discount) * 100) / 100;
  return { list, discount, net, vat: Math.round(net * vatRate * 100) / 100 };
}
