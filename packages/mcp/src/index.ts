export { createMcpServer, SERVER_NAME, SERVER_VERSION, toolList } from './server.js';
export { ExplorationSession, type SessionOptions } from './session.js';
export { TOOLS, type ToolArgs, type ToolName, type ToolResult } from './tools.js';
export { type HttpEndpoint, type ServiceSettings, serveHttp, serveStdio } from './transports.js';
