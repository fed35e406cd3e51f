// A webclient plugin of this game: every *.js in this folder
// ([portal] webclient_plugins) is loaded by the page after its own script.
// `Tavern.on(name, fn)` hears what the server sends (GMCP packages by name,
// "text", ...); `Tavern.addPane(id, title)` gives a pane in the side panel;
// `Tavern.send("text", ["ring"])` types a command. Put data in the page
// with textContent, never innerHTML.
//
// This one shows the brass bell's count (GMCP Tavern.Bell, src/feeds.rs)
// while you are near it, with a button that rings it.
const bellPane = Tavern.addPane("bell", "the brass bell");
bellPane.hidden = true;
const bellText = document.createElement("div");
const ring = document.createElement("button");
ring.type = "button";
ring.textContent = "ring the bell";
ring.addEventListener("click", (ev) => {
  ev.stopPropagation();
  Tavern.send("text", ["ring"]);
});
bellPane.append(bellText, ring);
Tavern.on("Tavern.Bell", (args) => {
  const bell = args[0];
  bellPane.hidden = !bell || typeof bell.rings !== "number";
  if (!bellPane.hidden) bellText.textContent = "The bell has rung " + bell.rings + " time(s).";
});
