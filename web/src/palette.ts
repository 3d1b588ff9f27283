// Colours, labels and symbols for condition classes and hazard statuses.
import type { ConditionClass, HazardStatus } from './types';

/**
 * Ordered, colour-blind-safe palette (good → failed): a blue arm for the two
 * good classes, then yellow → orange → red → dark red → near-black with
 * falling lightness. Simulated protanopia, deuteranopia and tritanopia
 * (Machado 2009) keep every pair of classes at CIEDE2000 ≥ 11.
 */
export const CLASS_COLOURS: Record<ConditionClass, string> = {
  good: '#2158a8',
  satisfactory: '#63b3e3',
  fair: '#f3cf3f',
  poor: '#ee8430',
  very_poor: '#cf3a2c',
  serious: '#861a33',
  failed: '#2e0b24',
};
export const NO_DATA_COLOUR = '#9aa3ad';

export const CLASS_LABELS: Record<ConditionClass, string> = {
  good: 'Good',
  satisfactory: 'Satisfactory',
  fair: 'Fair',
  poor: 'Poor',
  very_poor: 'Very poor',
  serious: 'Serious',
  failed: 'Failed',
};

/** PCI index range of each class (ASTM D6433). */
export const CLASS_RANGES: Record<ConditionClass, [number, number]> = {
  good: [86, 100],
  satisfactory: [71, 85],
  fair: [56, 70],
  poor: [41, 55],
  very_poor: [26, 40],
  serious: [11, 25],
  failed: [0, 10],
};

export function colourOfClass(cls: ConditionClass | null | undefined): string {
  return cls ? CLASS_COLOURS[cls] : NO_DATA_COLOUR;
}

/** Stroke width in pixels of a segment line at a zoom level; segments without data are thinner. */
export function lineWeight(zoomLevel: number, hasData: boolean): number {
  const zoom = Math.round(zoomLevel);
  const w = zoom <= 10 ? 1.5 : zoom <= 12 ? 2 : zoom === 13 ? 3 : zoom === 14 ? 4 : zoom === 15 ? 5 : 6;
  return hasData ? w : Math.max(1, w / 2);
}

export type HazardShape = 'circle' | 'triangle' | 'diamond' | 'square' | 'hexagon' | 'cross' | 'ring';

/** One distinct shape and colour (Okabe–Ito) per hazard status. */
export const HAZARD_STYLES: Record<HazardStatus, { label: string; shape: HazardShape; colour: string }> = {
  candidate: { label: 'Candidate', shape: 'ring', colour: '#6b7280' },
  confirmed: { label: 'Confirmed', shape: 'triangle', colour: '#d55e00' },
  acknowledged: { label: 'Acknowledged', shape: 'diamond', colour: '#e69f00' },
  repair_reported: { label: 'Repair reported', shape: 'square', colour: '#0072b2' },
  verified: { label: 'Verified', shape: 'hexagon', colour: '#009e73' },
  disputed: { label: 'Disputed', shape: 'cross', colour: '#cc79a7' },
  resolved: { label: 'Resolved', shape: 'circle', colour: '#56b4e9' },
};
export const UNKNOWN_HAZARD_STYLE = { label: 'Unknown', shape: 'circle' as HazardShape, colour: '#000000' };

/** Inline SVG for a hazard symbol of `size` pixels (white halo so it reads on any line colour). */
export function hazardSvg(shape: HazardShape, colour: string, size = 18): string {
  const s = size;
  const c = s / 2;
  const r = s / 2 - 2;
  const common = `stroke="#fff" stroke-width="1.5" stroke-linejoin="round"`;
  let body: string;
  switch (shape) {
    case 'triangle':
      body = `<path d="M${c} 1.5 L${s - 1.5} ${s - 2} L1.5 ${s - 2}Z" fill="${colour}" ${common}/>`;
      break;
    case 'diamond':
      body = `<path d="M${c} 1 L${s - 1} ${c} L${c} ${s - 1} L1 ${c}Z" fill="${colour}" ${common}/>`;
      break;
    case 'square':
      body = `<rect x="2.5" y="2.5" width="${s - 5}" height="${s - 5}" fill="${colour}" ${common}/>`;
      break;
    case 'hexagon': {
      const pts = [0, 1, 2, 3, 4, 5]
        .map((i) => {
          const a = (Math.PI / 3) * i + Math.PI / 6;
          return `${(c + r * Math.cos(a)).toFixed(2)},${(c + r * Math.sin(a)).toFixed(2)}`;
        })
        .join(' ');
      body = `<polygon points="${pts}" fill="${colour}" ${common}/>`;
      break;
    }
    case 'cross': {
      const a = 3.5;
      const b = s - 3.5;
      body =
        `<path d="M${a} ${a} L${b} ${b} M${b} ${a} L${a} ${b}" stroke="#fff" stroke-width="6" stroke-linecap="round"/>` +
        `<path d="M${a} ${a} L${b} ${b} M${b} ${a} L${a} ${b}" stroke="${colour}" stroke-width="3.5" stroke-linecap="round"/>`;
      break;
    }
    case 'ring':
      body =
        `<circle cx="${c}" cy="${c}" r="${r - 1}" fill="#fff" stroke="#fff" stroke-width="4"/>` +
        `<circle cx="${c}" cy="${c}" r="${r - 1}" fill="none" stroke="${colour}" stroke-width="2.5"/>`;
      break;
    default:
      body = `<circle cx="${c}" cy="${c}" r="${r - 1}" fill="${colour}" ${common}/>`;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${s}" height="${s}" viewBox="0 0 ${s} ${s}" aria-hidden="true">${body}</svg>`;
}
