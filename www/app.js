// Pregón admin page: reads the JSON API and inserts every server text as text, never HTML.
const $ = (id) => document.getElementById(id);

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text == null ? '' : String(text);
  if (cls) td.className = cls;
  return td;
}

async function refresh() {
  try {
    const h = await (await fetch('/api/health')).json();
    $('db').textContent = h.database === 'ok' ? 'Base de datos: OK' : 'Base de datos: sin conexión';
    $('sandbox').hidden = !h.sandbox;
    const res = await fetch('/api/campaigns?limit=50');
    if (!res.ok) return;
    const { campaigns } = await res.json();
    const body = $('campaigns');
    body.replaceChildren(...campaigns.map((c) => {
      const tr = document.createElement('tr');
      const n = c.counters;
      tr.append(cell(c.id), cell(c.name), cell(`${c.template.name} (${c.template.language})`),
        cell(c.status), cell(n.total, 'num'), cell(n.sent, 'num'), cell(n.delivered, 'num'),
        cell(n.read, 'num'), cell(n.failed, 'num'));
      return tr;
    }));
    $('empty').hidden = campaigns.length > 0;
  } catch (e) {
    $('db').textContent = 'Sin conexión con el servidor';
  }
}

refresh();
setInterval(refresh, 5000);
