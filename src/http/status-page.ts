/**
 * The live status page of a database (/db/{db}/status?_token=…). Every second it reads the
 * admin API (every node's status) and the router's routing view, and draws:
 * - a map of the nine location hints with each node placed in its region (nodes without a
 *   region under "unplaced"), a line from each replica to the node it follows (green when
 *   the link is up, dashed red when not), labelled with its lag;
 * - the nodes grouped by region: role, link, offset, lag in bytes behind its master and lag
 *   in time (how long the oldest byte it has not acknowledged has been waiting: 0 when in
 *   sync), time since its last ACK, syncs, backlog, keys;
 * - which node serves reads from each region (the router's current decision).
 * Self-contained: no assets, no framework.
 */
export function statusPage(db: string): string {
  const safeDb = db.replace(/[^A-Za-z0-9_-]/g, "");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edge-replica · ${safeDb}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#1d2330;background:#f7f8fa}
h1{font-size:20px;margin:0 0 4px} h2{font-size:15px;margin:20px 0 6px} .sub{color:#667;margin-bottom:16px}
svg{background:#fff;border:1px solid #dde;border-radius:8px}
table{border-collapse:collapse;background:#fff;margin-bottom:8px} td,th{padding:5px 9px;border-bottom:1px solid #eef;text-align:left}
th{background:#f0f2f6} .up{color:#0a7d36} .down{color:#b3261e} .mono{font-family:ui-monospace,monospace}
</style></head><body>
<h1>edge-replica — database <span class="mono">${safeDb}</span></h1>
<div class="sub" id="sub">loading…</div>
<svg id="topo" width="780" height="400" role="img" aria-label="nodes by region"></svg>
<div id="regions"></div>
<h2>Reads from each region</h2>
<table id="routes"><thead><tr><th>caller region</th><th>served by</th></tr></thead><tbody></tbody></table>
<script>
const db=${JSON.stringify(safeDb)};
const token=new URLSearchParams(location.search).get("_token")||"";
const q=token?"?_token="+encodeURIComponent(token):"";
const esc=s=>String(s??"").replace(/[&<>"]/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
const POS={wnam:[90,120],enam:[230,120],sam:[250,300],weur:[390,95],eeur:[495,95],afr:[430,300],me:[540,200],apac:[660,140],oc:[680,310],unplaced:[90,330]};
const ORDER=["wnam","enam","sam","weur","eeur","afr","me","apac","oc","unplaced"];
function nodesOf(t){const all=[t.master,...t.replicas];const seen=new Set();return all.filter(n=>n&&!seen.has(n.node)&&seen.add(n.node));}
function lagOf(nodes,n){for(const m of nodes){const r=(m.replicas||[]).find(x=>x.name===n.node);if(r)return r;}return null;}
function draw(t,routing){
  const nodes=nodesOf(t),where={},byRegion={};
  for(const n of nodes){const r=n.region||"unplaced";(byRegion[r]=byRegion[r]||[]).push(n);}
  let out="";
  for(const r of ORDER){const [x,y]=POS[r];out+='<rect x="'+(x-62)+'" y="'+(y-38)+'" width="124" height="'+(40+26*Math.max(1,(byRegion[r]||[]).length))+'" rx="8" fill="#f4f6fb" stroke="#ccd"/><text x="'+x+'" y="'+(y-22)+'" text-anchor="middle" font-size="12" fill="#556">'+r+'</text>';
    (byRegion[r]||[]).forEach((n,i)=>{where[n.node]=[x,y+i*26];});}
  for(const n of nodes){if(n.role!=="replica"||!n.master||!where[n.master]||!where[n.node])continue;
    const [x1,y1]=where[n.node],[x2,y2]=where[n.master],up=n.link==="connected",l=lagOf(nodes,n);
    out+='<line x1="'+x1+'" y1="'+y1+'" x2="'+x2+'" y2="'+y2+'" stroke="'+(up?"#0a7d36":"#b3261e")+'" stroke-width="2" stroke-dasharray="'+(up?"":"6 4")+'"/>';
    out+='<text x="'+((x1+x2)/2+4)+'" y="'+((y1+y2)/2-4)+'" font-size="11">'+(l?esc(l.lagBytes)+' B · '+esc(l.lagMs)+' ms':'–')+'</text>';}
  for(const n of nodes){const [x,y]=where[n.node];const m=n.role==="master";
    out+='<rect x="'+(x-52)+'" y="'+(y-10)+'" width="104" height="22" rx="11" fill="'+(m?"#e8eefc":n.link==="connected"?"#e6f4ea":"#fce8e6")+'" stroke="#556"/>';
    out+='<text x="'+x+'" y="'+(y+5)+'" text-anchor="middle" font-size="12" font-weight="'+(m?700:500)+'">'+esc(n.node)+(m?" ★":"")+'</text>';}
  document.getElementById("topo").innerHTML=out;
  let html="";
  for(const r of ORDER){const ns=byRegion[r];if(!ns)continue;
    html+="<h2>"+esc(r)+"</h2><table><thead><tr><th>node</th><th>role</th><th>follows</th><th>link</th><th>offset</th><th>behind (bytes)</th><th>lag (ms)</th><th>last ACK (ms ago)</th><th>syncs full/partial</th><th>backlog</th><th>keys</th></tr></thead><tbody>";
    for(const n of ns){const l=n.role==="replica"?lagOf(nodes,n):null;
      html+="<tr><td class=mono>"+esc(n.node)+"</td><td>"+esc(n.role)+"</td><td>"+esc(n.master||n.outsideMaster||"—")+"</td><td class="+(n.role==="master"||n.link==="connected"?"up":"down")+">"+esc((n.link||"—")+(n.unsupported?" (stopped at "+n.unsupported.offset+": "+n.unsupported.what+")":""))+"</td><td class=mono>"+esc(n.offset)+"</td><td>"+esc(l?l.lagBytes:"")+"</td><td>"+esc(l?l.lagMs:"")+"</td><td>"+esc(l?l.ackAgeMs:"")+"</td><td>"+esc(n.fullSyncs+"/"+n.partialSyncs)+"</td><td>"+esc(n.backlog.histlen+" / "+n.backlog.size)+"</td><td>"+esc(n.keys)+"</td></tr>";}
    html+="</tbody></table>";}
  document.getElementById("regions").innerHTML=html;
  if(routing)document.querySelector("#routes tbody").innerHTML=Object.entries(routing.reads).map(([r,n])=>"<tr><td>"+esc(r)+"</td><td class=mono>"+esc(n)+"</td></tr>").join("");
  const master=routing?routing.master:(nodes.find(n=>n.role==="master")||{}).node;
  document.getElementById("sub").textContent="master "+master+" · "+nodes.length+" node(s) · updated "+new Date().toLocaleTimeString();
}
async function get(p){const r=await fetch(p+q);if(!r.ok)throw new Error((await r.json()).error||r.status);return r.json();}
async function tick(){try{const [t,routing]=await Promise.all([get("/db/"+db+"/admin/nodes"),get("/db/"+db+"/admin/routing").catch(()=>null)]);draw(t,routing);}
catch(e){document.getElementById("sub").textContent="error: "+e.message;}setTimeout(tick,1000);}
tick();
</script></body></html>`;
}
