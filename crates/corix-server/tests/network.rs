//! The computers' network on the real Docker engine (needs a running dockerd).

use bollard::query_parameters::ListNetworksOptionsBuilder;
use corix_server::runtime::{DockerRuntime, Runtime};
use std::collections::HashMap;

#[tokio::test]
async fn control_planes_starting_together_make_one_network() {
    let docker = DockerRuntime::connect().await.expect("a running Docker engine");
    let name = format!("corix-test-network-{}", std::process::id());
    let runtimes: Vec<DockerRuntime> =
        (0..6).map(|i| DockerRuntime::new(docker.clone(), format!("instance-{i}"), name.clone())).collect();

    let prepared = futures_util::future::join_all(runtimes.iter().map(|runtime| runtime.prepare())).await;

    let filters = HashMap::from([("name".to_string(), vec![name.clone()])]);
    let networks = docker.list_networks(Some(ListNetworksOptionsBuilder::default().filters(&filters).build())).await.unwrap();
    let ids: Vec<String> =
        networks.into_iter().filter(|n| n.name.as_deref() == Some(name.as_str())).filter_map(|n| n.id).collect();
    for id in &ids {
        docker.remove_network(id).await.unwrap();
    }
    assert!(prepared.iter().all(Result::is_ok), "{prepared:?}");
    assert_eq!(ids.len(), 1, "networks named {name}: {ids:?}");
}
