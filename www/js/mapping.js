// A template's parameter mapping in the panel: the slots a template needs (its `params`, as
// lib/cloudapi.h lists them) and the mapping as the API takes it. The wizard's mapping step
// and the A/B variants' editor both build it here.

/** The slots of a template (none when it has no `params`). */
export function slotsOf(tpl) {
  return (tpl && Array.isArray(tpl.params)) ? tpl.params : [];
}

/** The mapping as the API takes it, {header: {name: I}, body: {name: I}, buttons: {i: I}},
 * from map: {keyOf(slot): {source, value, fallback?}} (a slot not in it: empty fixed text). */
export function mappingToParams(tpl, map, keyOf) {
  const out = {};
  for (const sl of slotsOf(tpl)) {
    const m = map[keyOf(sl)] || { source: 'fixed', value: '' };
    const item = m.source === 'fixed' ? { value: m.value || '' }
      : (m.fallback ? { column: m.value || '', fallback: m.fallback } : { column: m.value || '' });
    if (sl.component === 'button') {
      out.buttons = out.buttons || {};
      out.buttons[String(sl.index)] = item;
    } else {
      out[sl.component] = out[sl.component] || {};
      out[sl.component][sl.name || 'media'] = item;
    }
  }
  return out;
}
