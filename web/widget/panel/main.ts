/** The panel iframe's entry: mounts App on the element the worker's frame page made (workers/api/src/widget-page.ts). */
import { mount } from "svelte";
import App from "./App.svelte";
import "./panel.css";

const target = document.getElementById("woxly-panel");
const deskId = target?.dataset.desk;
if (target && deskId) mount(App, { target, props: { deskId, params: new URLSearchParams(location.search) } });
