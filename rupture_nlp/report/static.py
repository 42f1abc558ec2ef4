"""Inline CSS and script for the report pages (nothing is loaded from the network)."""

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1a1a1a;max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.15rem;border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:1.6rem}
.muted{color:#666}.kpis{display:flex;flex-wrap:wrap;gap:1.2rem;list-style:none;padding:0}.kpis b{font-size:1.3rem;display:block}
.conf{color:#a34400}.wd{color:#005a96}.ant{color:#8e3a74}
.flags{background:#fff6d5;border-left:4px solid #b58900;padding:.4rem .8rem}
.card{border:1px solid #ccc;border-left:6px solid #999;border-radius:4px;padding:.5rem .9rem;margin:.8rem 0}
.card.resolved{border-left-color:#009E73}.card.unresolved{border-left-color:#D55E00}.card.unclear{border-left-color:#999}
.card h3{font-size:1rem;margin:.2rem 0}.status{text-transform:uppercase;font-size:.85rem;letter-spacing:.04em}
table{border-collapse:collapse;width:100%;margin:.4rem 0}th,td{border-bottom:1px solid #e3e3e3;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}.stages{width:auto}blockquote{margin:.5rem 0;padding:.3rem .8rem;background:#fafafa;border-left:3px solid #ddd}
blockquote p{margin:.25rem 0}.who{font-weight:600;color:#444;margin-right:.3rem}
.tag{font-size:.75rem;border:1px solid #999;border-radius:3px;padding:0 .25rem;margin-left:.3rem;white-space:nowrap}
.tag.confrontation{border-color:#D55E00;color:#a34400}.tag.withdrawal{border-color:#0072B2;color:#005a96}
.tag.antagonizing{border-color:#CC79A7;color:#8e3a74}.tag.stage{border-color:#009E73;color:#006b4f}
tr.confrontation td:first-child{box-shadow:inset 4px 0 #D55E00}tr.withdrawal td:first-child{box-shadow:inset 4px 0 #0072B2}
tr.antagonizing td:first-child{box-shadow:inset 4px 0 #CC79A7}tr.stage td:first-child{box-shadow:inset 4px 0 #009E73}
.cue{color:#777;font-style:italic}.filters{display:flex;flex-wrap:wrap;gap:.8rem;align-items:center;margin:.4rem 0}
.timeline{width:100%;height:auto;border:1px solid #eee}dt{font-weight:600;margin-top:.4rem}dd{margin-left:1rem}
@media print{.filters{display:none}a{color:inherit}}
"""

FILTER_JS = """
(function(){
  var table=document.getElementById('turn-table'); if(!table){return;}
  var ids=['f-marker','f-subtype','f-stage','f-uncertain'];
  function apply(){
    var m=document.getElementById('f-marker').value, s=document.getElementById('f-subtype').value,
        st=document.getElementById('f-stage').value, u=document.getElementById('f-uncertain').checked, shown=0;
    var rows=table.tBodies[0].rows;
    for(var i=0;i<rows.length;i++){
      var d=rows[i].dataset;
      var ok=(!m||d.marker===m)&&(!s||d.subtype===s)&&(!st||d.stage===st)&&(!u||d.uncertain==='1');
      rows[i].style.display=ok?'':'none'; if(ok){shown++;}
    }
    document.getElementById('f-count').textContent=shown+' of '+rows.length+' turns';
  }
  ids.forEach(function(id){document.getElementById(id).addEventListener('change',apply);});
  apply();
})();
"""
