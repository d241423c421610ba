// format.js — helpers for the Arabic storefront
const FSI = "\u2068";
const PDI = "\u2069";

// Wrap user-supplied names in isolates so a Latin name doesn't flip the sentence.
export function greeting(name) {
  return `مرحبًا ${FSI}${name}${PDI}، شكرًا لتسوقك معنا!`;
}

export function orderLine(orderId, total) {
  return `الطلب ${FSI}${orderId}${PDI}: المجموع ${total.toLocaleString("ar-SA")} ر.س`;
}

export function shortDate(d) {
  return new Intl.DateTimeFormat("ar-SA", { dateStyle: "medium" }).format(d);
}
