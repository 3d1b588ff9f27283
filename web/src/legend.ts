// Legend with per-class counts, doubling as the filters: every row has a
// checkbox that shows or hides its class (or hazard status).
import { el } from './format';
import { CLASS_LABELS, CLASS_RANGES, HAZARD_STYLES, NO_DATA_COLOUR, colourOfClass, hazardSvg } from './palette';
import type { ClassKey } from './map';
import { CLASS_KEYS } from './map';
import { HAZARD_STATUSES } from './types';

export interface LegendOptions {
  classRoot: HTMLElement; // data-testid="legend"
  hazardRoot: HTMLElement; // data-testid="hazard-legend"
  initialStatuses: Set<string>;
  onClassFilter(keys: Set<ClassKey>): void;
  onHazardFilter(statuses: Set<string>): void;
}

export class Legend {
  private readonly classCounts = new Map<string, HTMLElement>();
  private readonly hazardCounts = new Map<string, HTMLElement>();
  private readonly classBoxes = new Map<ClassKey, HTMLInputElement>();
  private readonly hazardBoxes = new Map<string, HTMLInputElement>();

  constructor(private readonly o: LegendOptions) {
    this.buildClasses();
    this.buildHazards();
  }

  updateCounts(classes: Record<string, number>, hazards: Record<string, number>): void {
    for (const [k, node] of this.classCounts) setText(node, String(classes[k] ?? 0));
    for (const [k, node] of this.hazardCounts) setText(node, String(hazards[k] ?? 0));
  }

  private buildClasses(): void {
    const list = el('ul', { class: 'legend-list' });
    for (const key of CLASS_KEYS) {
      const box = el('input', { type: 'checkbox', checked: true, 'data-testid': `filter-class-${key}`, value: key });
      box.addEventListener('change', () => this.o.onClassFilter(this.checked(this.classBoxes) as Set<ClassKey>));
      this.classBoxes.set(key, box);
      const count = el('span', { class: 'count', 'data-testid': `legend-count-${key}` }, '0');
      this.classCounts.set(key, count);
      const label = key === 'no_data' ? 'No data' : CLASS_LABELS[key];
      const range = key === 'no_data' ? '' : `${CLASS_RANGES[key][0]}–${CLASS_RANGES[key][1]}`;
      const swatch = el('span', {
        class: key === 'no_data' ? 'swatch line thin' : 'swatch line',
        style: `background:${key === 'no_data' ? NO_DATA_COLOUR : colourOfClass(key)}`,
      });
      list.append(
        el(
          'li',
          { 'data-class': key },
          el('label', {}, box, swatch, el('span', { class: 'name' }, label), el('span', { class: 'range muted' }, range), count),
        ),
      );
    }
    this.o.classRoot.append(el('h3', {}, 'Condition (PCI)'), list, this.allNone(this.classBoxes, () => this.o.onClassFilter(this.checked(this.classBoxes) as Set<ClassKey>)));
  }

  private buildHazards(): void {
    const list = el('ul', { class: 'legend-list' });
    for (const status of HAZARD_STATUSES) {
      const st = HAZARD_STYLES[status];
      const box = el('input', {
        type: 'checkbox',
        checked: this.o.initialStatuses.has(status),
        'data-testid': `filter-hazard-${status}`,
        value: status,
      });
      box.addEventListener('change', () => this.o.onHazardFilter(this.checked(this.hazardBoxes)));
      this.hazardBoxes.set(status, box);
      const count = el('span', { class: 'count', 'data-testid': `legend-hazard-count-${status}` }, '0');
      this.hazardCounts.set(status, count);
      const sym = el('span', { class: 'hz-sym' });
      sym.innerHTML = hazardSvg(st.shape, st.colour, 16);
      list.append(el('li', { 'data-status': status }, el('label', {}, box, sym, el('span', { class: 'name' }, st.label), count)));
    }
    this.o.hazardRoot.append(el('h3', {}, 'Hazards'), list, this.allNone(this.hazardBoxes, () => this.o.onHazardFilter(this.checked(this.hazardBoxes))));
  }

  private allNone(boxes: Map<string, HTMLInputElement>, changed: () => void): HTMLElement {
    const mk = (label: string, on: boolean) => {
      const b = el('button', { type: 'button', class: 'link' }, label);
      b.addEventListener('click', () => {
        for (const box of boxes.values()) box.checked = on;
        changed();
      });
      return b;
    };
    return el('div', { class: 'all-none' }, mk('all', true), ' · ', mk('none', false));
  }

  private checked(boxes: Map<string, HTMLInputElement>): Set<string> {
    const out = new Set<string>();
    for (const [k, b] of boxes) if (b.checked) out.add(k);
    return out;
  }
}

function setText(node: HTMLElement, s: string): void {
  if (node.textContent !== s) node.textContent = s;
}
