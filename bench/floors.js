// The floors the scenarios are compared with: the same JSON answer from bare Express 5 and
// from bare node:http. Run as `node bench/floors.js express|node_http PORT`.
'use strict';
const http = require('node:http');
const express = require('express');

const [kind, port] = process.argv.slice(2);
const body = {
  id: 1,
  email: 'admin@example.com',
  first_name: '',
  last_name: '',
  active_organization: 1,
  role: 'owner',
};
const server =
  kind === 'express'
    ? http.createServer(express().get('/whoami', (_req, res) => res.json(body)))
    : http.createServer((_req, res) => {
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.end(JSON.stringify(body));
      });
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
