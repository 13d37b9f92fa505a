// Start Swagger UI on the gateway's OpenAPI document (a file, not inline: the page's CSP forbids inline script).
(function () {
  "use strict";
  const node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({url: node.dataset.spec, dom_id: "#swagger-ui", deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout", tryItOutEnabled: true});
})();
