package e2e

// seed001List is the List manifest of seed 001 exactly as the seed gives it
// (trailing spaces included): the headless Service, the StatefulSet with
// storageClassName nfs-client, and an Ingress (networking.k8s.io/v1), a
// kind petset does not serve.
const seed001List = `kind: List  
apiVersion: v1  
items:  
  - kind: Service  
    apiVersion: v1  
    metadata:  
      name: hello-stateful-service  
    spec:  
      clusterIP: None  
      selector:  
        app: hello-stateful  
      ports:  
        - name: http  
          port: 8000  
  - kind: StatefulSet  
    apiVersion: apps/v1  
    metadata:  
      name: hello-stateful  
    spec:  
      replicas: 3  
      selector:  
        matchLabels:  
          app: hello-stateful  
      serviceName: hello-stateful-service  
      template:  
        metadata:  
          labels:  
            app: hello-stateful  
        spec:  
          containers:  
            - name: hello-stateful  
              image: hello-stateful:v3  
              ports:  
                - name: http  
                  containerPort: 8000  
              volumeMounts:  
                - mountPath: /etc/stateful  
                  name: data  
      volumeClaimTemplates:  
        - metadata:  
            name: data  
          spec:  
            resources:  
              requests:  
                storage: 1Mi  
            accessModes:  
              - ReadWriteOnce  
            storageClassName: nfs-client  
  - kind: Ingress  
    apiVersion: networking.k8s.io/v1  
    metadata:  
      name: hello-ingress  
      annotations:  
        nginx.ingress.kubernetes.io/rewrite-target: /$2  # 将$2替换成(.*), 用于重写前缀
    spec:  
      rules:  
        - http:  
            paths:  
              - pathType: Prefix  
                path: "/hello(/|$)(.*)"
                backend:  
                  service:  
                    name: hello-service  
                    port:  
                      number: 8000  
              - pathType: Prefix  
                path: "/stateful(/|$)(.*)"  
                backend:  
                  service:  
                    name: hello-stateful-service  
                    port:  
                      number: 8000
`
