// Cytoscape.js layout extensions without type declarations of their own: each is a plugin for cytoscape.use.
declare module 'cytoscape-elk' {
  const extension: cytoscape.Ext;
  export default extension;
}
declare module 'cytoscape-fcose' {
  const extension: cytoscape.Ext;
  export default extension;
}
