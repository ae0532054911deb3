/**
 * The live status page of a database (/db/{db}/status?_token=…): draws the topology (the
 * master and its replicas, with link state and lag in bytes and ms) and refreshes it every
 * second from the admin API. Self-contained: no assets, no framework.
 */
export function statusPage(db: string): string {
  const safeDb = db.replace(/[^A-Za-z0-9_-]/g, "");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edge-replica · ${safeDb}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#1d2330;background:#f7f8fa}
h1{font-size:20px;margin:0 0 4px} .sub{color:#667;margin-bottom:16px}
svg{background:#fff;border:1px solid #dde;border-radius:8px}
table{border-collapse:collapse;margin-top:16px;background:#fff} td,th{padding:6px 10px;border-bottom:1px solid #eef;text-align:left}
th{background:#f0f2f6} .up{color:#0a7d36} .down{color:#b3261e} .mono{font-family:ui-monospace,monospace}
</style></head><body>
<h1>edge-replica — database <span class="mono">${safeDb}</span></h1>
<div class="sub" id="sub">loading…</div>
<svg id="topo" width="760" height="360" role="img" aria-label="replication topology"></svg>
<table id="tbl"><thead><tr><th>node</th><th>role</th><th>region</th><th>link</th><th>offset</th><th>lag (bytes)</th><th>lag (ms)</th><th>syncs full/partial</th><th>backlog</th><th>keys</th></tr></thead><tbody></tbody></table>
<script>
const db=${JSON.stringify(safeDb)};
const token=new URLSearchParams(location.search).get("_token")||"";
const q=token?"?_token="+encodeURIComponent(token):"";
const esc=s=>String(s).replace(/[&<>"]/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
function draw(t){
  const svg=document.getElementById("topo"),W=760,H=360,cx=W/2,cy=90;
  const reps=t.replicas;let out="";
  const lagOf=r=>{const m=t.master.replicas.find(x=>x.name===r.node);return m?m:{lagBytes:t.master.offset-r.offset,lagMs:null,state:"?"}};
  reps.forEach((r,i)=>{const x=reps.length===1?cx:60+i*(W-120)/Math.max(1,reps.length-1),y=270;
    const l=lagOf(r),up=r.link==="connected";
    out+='<line x1="'+cx+'" y1="'+cy+'" x2="'+x+'" y2="'+y+'" stroke="'+(up?"#0a7d36":"#b3261e")+'" stroke-width="3" stroke-dasharray="'+(up?"":"6 4")+'"/>';
    out+='<text x="'+((cx+x)/2+6)+'" y="'+((cy+y)/2)+'" font-size="12">'+esc(l.lagBytes)+' B · '+(l.lagMs==null?"–":esc(l.lagMs)+' ms')+'</text>';
    out+='<circle cx="'+x+'" cy="'+y+'" r="34" fill="'+(up?"#e6f4ea":"#fce8e6")+'" stroke="#556"/>';
    out+='<text x="'+x+'" y="'+(y+4)+'" text-anchor="middle" font-weight="600">'+esc(r.node)+'</text>';
    out+='<text x="'+x+'" y="'+(y+52)+'" text-anchor="middle" font-size="12">'+esc(r.link)+'</text>';});
  out+='<circle cx="'+cx+'" cy="'+cy+'" r="40" fill="#e8eefc" stroke="#556"/>';
  out+='<text x="'+cx+'" y="'+(cy+4)+'" text-anchor="middle" font-weight="700">'+esc(t.master.node)+'</text>';
  out+='<text x="'+cx+'" y="'+(cy-50)+'" text-anchor="middle" font-size="12">master · offset '+esc(t.master.offset)+'</text>';
  svg.innerHTML=out;
  const rows=[t.master,...reps].map(n=>{const l=n.role==="replica"?lagOf(n):{lagBytes:"",lagMs:""};
    const reg=(t.master.replicas.find(x=>x.name===n.node)||{}).region||"";
    return "<tr><td class=mono>"+esc(n.node)+"</td><td>"+esc(n.role)+"</td><td>"+esc(reg)+"</td><td class="+(n.role==="master"||n.link==="connected"?"up":"down")+">"+esc(n.link||"—")+"</td><td class=mono>"+esc(n.offset)+"</td><td>"+esc(l.lagBytes)+"</td><td>"+esc(l.lagMs==null?"–":l.lagMs)+"</td><td>"+esc(n.fullSyncs+"/"+n.partialSyncs)+"</td><td>"+esc(n.backlog.histlen+" / "+n.backlog.size)+"</td><td>"+esc(n.keys)+"</td></tr>"}).join("");
  document.querySelector("#tbl tbody").innerHTML=rows;
  document.getElementById("sub").textContent="replid "+t.master.replid+" · "+reps.length+" replica(s) · updated "+new Date().toLocaleTimeString();
}
async function tick(){try{const r=await fetch("/db/"+db+"/admin/nodes"+q);if(!r.ok)throw new Error((await r.json()).error||r.status);draw(await r.json());}
catch(e){document.getElementById("sub").textContent="error: "+e.message;}setTimeout(tick,1000);}
tick();
</script></body></html>`;
}
